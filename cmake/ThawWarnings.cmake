# thaw_warnings(target): the warning set every thaw-owned target builds with (-Wall -Wextra,
# and -Werror when THAW_WERROR is on). Consumers of thaw::thaw get none of it.
function(thaw_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic $<$<BOOL:${THAW_WERROR}>:-Werror>)
endfunction()
