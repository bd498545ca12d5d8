/*
 * A stand-in for a libjouleprint older than the Python binding needs: it reports ABI 0. The binding's
 * tests load it through JOULEPRINT_LIBRARY and expect a clear error, not a crash or a wrong call.
 */
int jp_abi_version(void);
const char *jp_version(void);

int jp_abi_version(void) { return 0; }
const char *jp_version(void) { return "0.0.1"; }
