# Imports stb's image writer (the deconvnet pictures) as thaw::stb: Debian's libstb-dev ships
# the headers and a compiled libstb.
if(NOT TARGET thaw::stb)
  find_path(THAW_STB_INCLUDE_DIR stb/stb_image_write.h REQUIRED)
  find_library(THAW_STB_LIBRARY stb REQUIRED)
  add_library(thaw::stb UNKNOWN IMPORTED)
  set_target_properties(thaw::stb PROPERTIES IMPORTED_LOCATION ${THAW_STB_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${THAW_STB_INCLUDE_DIR})
endif()
