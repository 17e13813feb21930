#ifndef PARLEY_CEDITLINE_SHIM_H
#define PARLEY_CEDITLINE_SHIM_H
#include <stdio.h>
#include <editline/readline.h>

/* Swift 6 refuses to assign C globals directly (shared mutable state); the REPL sets its
   completion hook once, on the main thread, through this. */
static inline void parley_set_completion(rl_completion_func_t *function) {
    rl_attempted_completion_function = function;
}
#endif
