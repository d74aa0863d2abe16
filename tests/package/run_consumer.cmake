# Installs thaw from THAW_BUILD into a fresh prefix under WORK, then configures, builds and
# runs the consumer project next to this script, using thaw through MODE (find_package or
# add_subdirectory), as a user's project would.
file(REMOVE_RECURSE ${WORK})
set(consumer_args -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK}/consumer -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE=Release)
if(CUDA_COMPILER)  # thaw was built with its CUDA backend: the consumer builds a .cu program too
  list(APPEND consumer_args -DCUDA_APP=ON -DCMAKE_CUDA_COMPILER=${CUDA_COMPILER}
       -DCMAKE_CUDA_HOST_COMPILER=${CXX})
endif()
if(MODE STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${THAW_BUILD} --prefix ${WORK}/prefix
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install failed (${rc})")
  endif()
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK}/prefix)
else()
  list(APPEND consumer_args -DTHAW_SOURCE_DIR=${THAW_SOURCE})
endif()
set(no_build_type_warning "CMAKE_BUILD_TYPE is not set")
foreach(step "${consumer_args}" "--build;${WORK}/consumer")
  execute_process(COMMAND ${CMAKE_COMMAND} ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer step 'cmake ${step}' failed:\n${out}")
  endif()
  string(FIND "${out}" "${no_build_type_warning}" warned)
  if(NOT warned EQUAL -1)
    message(FATAL_ERROR "thaw warned about a missing build type although the consumer set one:\n${out}")
  endif()
endforeach()
# Without a build type the consumer would build at -O0: thaw's configuration must warn.
list(FILTER consumer_args EXCLUDE REGEX "^-DCMAKE_BUILD_TYPE=")
list(TRANSFORM consumer_args REPLACE "^${WORK}/consumer$" "${WORK}/no_build_type")
execute_process(COMMAND ${CMAKE_COMMAND} ${consumer_args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
string(FIND "${out}" "${no_build_type_warning}" warned)
if(NOT rc EQUAL 0 OR warned EQUAL -1)
  message(FATAL_ERROR "configuring the consumer without CMAKE_BUILD_TYPE gave no warning about it (${rc}):\n${out}")
endif()
file(MAKE_DIRECTORY ${WORK}/weights)
execute_process(COMMAND ${WORK}/consumer/app ${WORK}/weights
                        ${THAW_SOURCE}/tests/data/torch-2.11/fixture_zip.pth RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE out)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer failed (${rc})")
endif()
if(CUDA_COMPILER)
  execute_process(COMMAND ${WORK}/consumer/app_cuda RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the CUDA consumer failed (${rc})")
  endif()
endif()
