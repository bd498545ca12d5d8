/*
 * A stand-in for a libjouleprint older than the Python binding needs: it reports ABI 0. The binding's
 * tests load it through JOULEPRINT_LIBRARY and expect a clear error, not a crash or a wrong call.
 */
#define JP_EXPORT __attribute__((visibility("default"))) /* whatever the build's default visibility */

JP_EXPORT int jp_abi_version(void);
JP_EXPORT const char *jp_version(void);

JP_EXPORT int jp_abi_version(void) { return 0; }
JP_EXPORT const char *jp_version(void) { return "0.0.1"; }
