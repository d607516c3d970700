/* faultline/point.h: named points where a race lives, for faults injected at run time.
 *
 *   #include <faultline/point.h>
 *   ...
 *   faultline_point("plan.apply");   // a rule like `point:plan.apply -> hold(h1)` acts here
 *
 * Under `faultline inject` (libfaultline_inject.so preloaded) a rule on the point may delay
 * the calling thread, park it until released (`faultline inject release`), or make the call
 * return an errno value for the service to act on. Without the shim the symbol is absent
 * (weak) and the call costs one comparison. Plain C; C++ may include it too. Needs a
 * position-independent executable or shared library (the default on Debian), so that the
 * weak reference is resolved when the program starts.
 *
 * Returns 0, or the errno value of a fail(ERRNO) rule on this point.
 */
#ifndef FAULTLINE_POINT_H_
#define FAULTLINE_POINT_H_

#ifdef __cplusplus
extern "C" {
#endif

extern int faultline_point(const char* name) __attribute__((weak));

/* The call through the weak symbol, safe when the shim is absent. The parentheses around
 * the name keep this macro from expanding itself. */
#define faultline_point(name) ((&faultline_point) != 0 ? (faultline_point)(name) : 0)

#ifdef __cplusplus
}
#endif

#endif /* FAULTLINE_POINT_H_ */
