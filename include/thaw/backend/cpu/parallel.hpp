// thaw/backend/cpu/parallel.hpp — OpenMP loop annotation and thread-count control.
// Without OpenMP the loops run serially and the pragma disappears (no unknown-pragma warning).
#pragma once

#if defined(_OPENMP)
#include <omp.h>
#define THAW_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#else
#define THAW_PARALLEL_FOR
#endif

namespace thaw {

// Threads used by thaw's CPU loops and by the OpenMP build of OpenBLAS behind its GEMMs.
inline void set_num_threads(int n) {
#if defined(_OPENMP)
  omp_set_num_threads(n > 0 ? n : 1);
#else
  (void)n;
#endif
}

inline int num_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace thaw
