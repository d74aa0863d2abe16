# Included by thaw's package configuration (and by thaw's own CMakeLists, which covers
# add_subdirectory): a project that uses thaw without a build type compiles thaw's header-only
# kernels with no optimisation at all, which runs 2.5-3.6x slower; say so at configure time.
get_property(_thaw_multi_config GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
if(NOT _thaw_multi_config AND NOT CMAKE_BUILD_TYPE)
  message(WARNING "thaw: CMAKE_BUILD_TYPE is not set, so thaw's header-only code is compiled without "
                  "optimisation (-O0) and runs 2.5-3.6x slower. Configure with -DCMAKE_BUILD_TYPE=Release "
                  "(or RelWithDebInfo).")
endif()
unset(_thaw_multi_config)
