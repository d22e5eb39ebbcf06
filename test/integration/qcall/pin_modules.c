/*
 * Test helper for the sanitizer build, preloaded into qcall: dlclose() keeps every module
 * mapped (as RTLD_NODELETE would). OpenSSL unloads providers at exit; memory a provider keeps
 * for the life of the process (e.g. its locked-page pool's bookkeeping) would then be reported
 * by LeakSanitizer as leaked from an "<unknown module>". With the module still mapped, such
 * memory stays reachable and LeakSanitizer keeps checking qcall's own allocations.
 */
__attribute__((visibility("default"))) int dlclose(void *handle);

int dlclose(void *handle)
{
    (void)handle;
    return 0;
}
