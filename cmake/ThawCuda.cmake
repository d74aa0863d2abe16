# The optional CUDA backend: THAW_CUDA (on when CMake finds a CUDA compiler) and the INTERFACE
# target thaw::cuda for programs that include thaw/backend/cuda/*.cuh: thaw's headers, the CUDA
# runtime and cuBLAS. Link it beside thaw::thaw; it adds no CPU dependency of its own.
include(CheckLanguage)
if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # nvcc compiles host code with the project's g++ (12 accepted by nvcc 13), not whichever g++
  # comes first on PATH.
  set(CMAKE_CUDA_HOST_COMPILER ${CMAKE_CXX_COMPILER} CACHE FILEPATH "Host compiler for nvcc")
endif()
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  set(thaw_cuda_default ON)
else()
  set(thaw_cuda_default OFF)
endif()
option(THAW_CUDA "Build thaw's CUDA backend target thaw::cuda, its tests and benchmarks (needs nvcc)"
       ${thaw_cuda_default})

if(THAW_CUDA)
  # Hopper SASS, plus PTX that newer GPUs compile at load time.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual")
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  add_library(thaw_cuda INTERFACE)
  add_library(thaw::cuda ALIAS thaw_cuda)
  set_target_properties(thaw_cuda PROPERTIES EXPORT_NAME cuda)
  target_compile_features(thaw_cuda INTERFACE cxx_std_20)
  # CMake 3.25 knows no CUDA 13 language levels, so the flag is given directly.
  target_compile_options(thaw_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>)
  target_include_directories(thaw_cuda INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(thaw_cuda INTERFACE CUDA::cudart CUDA::cublas)
  # cuDNN, when the toolkit has it, for the convolutions (backend/cuda/cudnn.cuh); without it
  # they run as im2col and cuBLAS GEMMs.
  find_library(THAW_CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR})
  find_path(THAW_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  if(THAW_CUDNN_LIBRARY AND THAW_CUDNN_INCLUDE_DIR)
    option(THAW_CUDNN "Run the CUDA backend's convolutions through cuDNN" ON)
  else()
    set(THAW_CUDNN OFF)
  endif()
  if(THAW_CUDNN)
    # cudnn.h sits beside the toolkit's headers, which CUDA::cudart adds; the library's absolute
    # path is exported as it is, for consumers of the installed package on this machine.
    target_compile_definitions(thaw_cuda INTERFACE THAW_CUDNN=1)
    target_link_libraries(thaw_cuda INTERFACE ${THAW_CUDNN_LIBRARY})
  endif()
  message(STATUS "thaw: CUDA backend on (cuDNN convolutions: ${THAW_CUDNN})")
  # Thrust/CUB (CUDA 13 keeps them under include/cccl): g++ builds of the backend's host
  # system (THRUST_DEVICE_SYSTEM_CPP) need the path; nvcc knows it.
  find_path(THAW_CCCL_INCLUDE_DIR thrust/device_vector.h HINTS ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES cccl NO_DEFAULT_PATH)
endif()

# thaw_cuda_warnings(target): thaw_warnings for targets that mix CUDA and C++ sources.
function(thaw_cuda_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic $<$<BOOL:${THAW_WERROR}>:-Werror>>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra $<$<BOOL:${THAW_WERROR}>:-Werror=all-warnings>>)
endfunction()
