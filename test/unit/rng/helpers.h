/* Helpers shared by the RNG unit suites. */
#ifndef QKEY_TEST_RNG_HELPERS_H
#define QKEY_TEST_RNG_HELPERS_H

#include <CUnit/CUnit.h>
#include <stddef.h>

#include "internal.h"

/* Suites: each returns the CUnit registry's error state. */
int rng_suite_health(void);
int rng_suite_sim(void);
int rng_suite_config(void);
int rng_suite_device(void);
int rng_suite_pipeline(void);
int rng_suite_forkdraw(void);
int rng_suite_toeplitz(void);
int rng_suite_diqrng(void);

/* A config from "key", "value", ..., NULL. */
QKS_CONFIG *rng_test_config(const char *key, ...);
/* Open a pipeline from key/value pairs (NULL-terminated); returns the qhw_rng_open code. */
int rng_test_open(QHW_RNG **out, const char *key, ...);
/* A fresh temporary directory (removed at exit) and a path in it. */
const char *rng_test_dir(void);
/* Write a file `name` in the temp dir with `len` bytes from `data`; returns its path
 * (static buffer rotated among 4). */
const char *rng_test_file(const char *name, const unsigned char *data, size_t len);
/* len bytes from getrandom(2). */
void rng_test_random(unsigned char *buf, size_t len);

#endif
