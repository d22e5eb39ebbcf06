/*
 * CUnit runner for the RNG pipeline suites. `test_rng [SUITE]` runs one suite (health, sim,
 * config, device, pipeline, toeplitz, diqrng, forkdraw) or all of them; exit status is non-zero
 * when any test failed.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "helpers.h"

static const struct {
    const char *name;
    int (*add)(void);
} suites[] = {
    {"health", rng_suite_health},     {"sim", rng_suite_sim},
    {"config", rng_suite_config},     {"device", rng_suite_device},
    {"pipeline", rng_suite_pipeline}, {"toeplitz", rng_suite_toeplitz},
    {"diqrng", rng_suite_diqrng},     {"forkdraw", rng_suite_forkdraw},
};

int main(int argc, char **argv)
{
    unsigned failed;
    int found = 0;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
        if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
            continue;
        found = 1;
        if (suites[i].add() != CUE_SUCCESS) {
            fprintf(stderr, "cannot register suite %s\n", suites[i].name);
            CU_cleanup_registry();
            return 2;
        }
    }
    if (!found) {
        fprintf(stderr, "no suite named %s\n", argv[1]);
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed != 0;
}
