// thaw/config.hpp — version, the host/device annotation and the assertion switch.
// Kept free of any heavy include so every other header can start with it.
#pragma once

#define THAW_VERSION_MAJOR 0
#define THAW_VERSION_MINOR 1
#define THAW_VERSION_PATCH 0

// Functions usable from CUDA kernels carry this; with a host compiler it is empty, so the
// compile-time core builds with g++ alone.
#if defined(__CUDACC__)
#define THAW_HOST_DEVICE __host__ __device__
#else
#define THAW_HOST_DEVICE
#endif

// Concept checks at public entry points are static_asserts with a message. Defining
// THAW_DISABLE_CHECKS removes the expensive ones (never the ones that guard memory safety).
#if defined(THAW_DISABLE_CHECKS)
#define THAW_CHECKS_ENABLED 0
#else
#define THAW_CHECKS_ENABLED 1
#endif
