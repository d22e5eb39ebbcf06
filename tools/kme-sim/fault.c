/*
 * Fault injection for tests: DIR/fault.json, re-read whenever it changes, e.g.
 *   {"kme": "A", "fault": "503", "count": 1}
 *   {"kme": "both", "fault": "delay", "delay_ms": 3000}
 * kme: "A", "B" or "both" (default); fault: none, delay, drop (close the connection without an
 * answer), 503, malformed (a body that is not JSON), wrong_size (keys one byte short),
 * duplicate_ids (the same key_ID twice); count: how many requests to hit (default: all while
 * the file is there). Removing the file ends the fault.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "kmesim.h"

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec fault_mtime;
static off_t fault_size = -1;
static KMESIM_FAULT fault_cur;
static int fault_kme_mask; /* bit 0: KME A, bit 1: KME B */
static long fault_left;    /* -1: unlimited */

static const struct {
    const char *name;
    enum kmesim_fault_kind kind;
} fault_names[] = {
    {"none", KMESIM_FAULT_NONE},
    {"delay", KMESIM_FAULT_DELAY},
    {"drop", KMESIM_FAULT_DROP},
    {"503", KMESIM_FAULT_503},
    {"malformed", KMESIM_FAULT_MALFORMED},
    {"wrong_size", KMESIM_FAULT_WRONG_SIZE},
    {"duplicate_ids", KMESIM_FAULT_DUPLICATE_IDS},
};

static void load(const char *path)
{
    json_t *root = json_load_file(path, 0, NULL);
    const char *name = json_string_value(json_object_get(root, "fault"));
    const char *kme = json_string_value(json_object_get(root, "kme"));
    json_t *count = json_object_get(root, "count");

    memset(&fault_cur, 0, sizeof(fault_cur));
    fault_kme_mask = 3;
    fault_left = -1;
    if (root == NULL || name == NULL) {
        fprintf(stderr, "qkey-kme-sim: %s: not a fault description, ignored\n", path);
        goto done;
    }
    for (size_t i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
        if (strcmp(name, fault_names[i].name) == 0)
            fault_cur.kind = fault_names[i].kind;
    if (kme != NULL && strcmp(kme, "A") == 0)
        fault_kme_mask = 1;
    else if (kme != NULL && strcmp(kme, "B") == 0)
        fault_kme_mask = 2;
    fault_cur.delay_ms = (long)json_integer_value(json_object_get(root, "delay_ms"));
    if (json_is_integer(count))
        fault_left = (long)json_integer_value(count);
    fprintf(stderr, "qkey-kme-sim: fault %s on KME %s\n", name, kme ? kme : "both");
done:
    json_decref(root);
}

void kmesim_fault_next(const char *dir, int kme, KMESIM_FAULT *out)
{
    char path[4200];
    struct stat sb;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "%s/fault.json", dir);
    pthread_mutex_lock(&fault_lock);
    if (stat(path, &sb) != 0) {
        fault_size = -1;
        fault_cur.kind = KMESIM_FAULT_NONE;
        goto done;
    }
    if (sb.st_size != fault_size || sb.st_mtim.tv_sec != fault_mtime.tv_sec ||
        sb.st_mtim.tv_nsec != fault_mtime.tv_nsec) {
        fault_size = sb.st_size;
        fault_mtime = sb.st_mtim;
        load(path);
    }
    if (fault_cur.kind == KMESIM_FAULT_NONE || !(fault_kme_mask & (1 << kme)) || fault_left == 0)
        goto done;
    *out = fault_cur;
    if (fault_left > 0)
        fault_left--;
done:
    pthread_mutex_unlock(&fault_lock);
}
