# Imports libzip (PyTorch's zip weight files) as thaw::libzip. Debian 12's libzip CMake config
# refers to the zipcmp/zipmerge/ziptool programs, which libzip-dev does not install, and stops
# the configure step; so the header and the library are found directly.
if(NOT TARGET thaw::libzip)
  find_path(THAW_LIBZIP_INCLUDE_DIR zip.h REQUIRED)
  find_library(THAW_LIBZIP_LIBRARY zip REQUIRED)
  add_library(thaw::libzip UNKNOWN IMPORTED)
  set_target_properties(thaw::libzip PROPERTIES IMPORTED_LOCATION ${THAW_LIBZIP_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${THAW_LIBZIP_INCLUDE_DIR})
endif()
