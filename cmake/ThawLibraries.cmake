# Imports the C libraries thaw's headers call, found directly by header and library name
# (Debian's packages; included both by thaw's build and by the installed thawConfig.cmake).
#   thaw::libzip  PyTorch's zip weight files. Debian 12's libzip CMake config refers to the
#                 zipcmp/zipmerge/ziptool programs, which libzip-dev does not install, and stops
#                 the configure step; hence no find_package.
#   thaw::stb     stb_image_write for deconvnet pictures (libstb-dev ships a compiled libstb).
#   thaw::spng    libspng: PNG decoding with CRC checks, and the synthetic set's PNG writer.
function(thaw_import_library target header library)
  if(TARGET ${target})
    return()
  endif()
  string(MAKE_C_IDENTIFIER ${target} stem)
  find_path(${stem}_INCLUDE_DIR ${header} REQUIRED)
  find_library(${stem}_LIBRARY ${library} REQUIRED)
  add_library(${target} UNKNOWN IMPORTED)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${${stem}_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${${stem}_INCLUDE_DIR})
endfunction()

thaw_import_library(thaw::libzip zip.h zip)
thaw_import_library(thaw::stb stb/stb_image_write.h stb)
thaw_import_library(thaw::spng spng.h spng)
