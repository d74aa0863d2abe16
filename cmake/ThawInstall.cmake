# Install rules: headers, the exported thaw::thaw target and a version file, so that
# find_package(thaw CONFIG) works from an installed prefix.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/thaw DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS thaw EXPORT thawTargets)
if(THAW_CUDA)
  install(TARGETS thaw_cuda EXPORT thawTargets)
endif()
set(THAW_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/thaw)
install(EXPORT thawTargets NAMESPACE thaw:: DESTINATION ${THAW_CMAKE_DIR})
configure_package_config_file(cmake/thawConfig.cmake.in ${PROJECT_BINARY_DIR}/thawConfig.cmake
  INSTALL_DESTINATION ${THAW_CMAKE_DIR})
# Header-only: the package fits any architecture.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/thawConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/thawConfig.cmake ${PROJECT_BINARY_DIR}/thawConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/ThawLibraries.cmake ${PROJECT_SOURCE_DIR}/cmake/ThawBuildType.cmake
  DESTINATION ${THAW_CMAKE_DIR})
