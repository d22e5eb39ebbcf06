/*
 * Key supply models of the simulated link: how many secret-key bits the QKD link distils per
 * simulated second.
 *  - constant: a metro fibre link at rate_bps (default ~1 Mbit/s);
 *  - satellite: passes of pass_seconds every period_seconds (the first at first_pass_seconds);
 *    during a pass the rate follows the satellite's elevation, modelled as
 *    peak_bps * sin(pi * x / pass_seconds) for x seconds into the pass, zero between passes.
 * Simulated time runs time_scale times faster than real time, so a day of passes fits in seconds.
 */
#include <math.h>

#include "kmesim.h"

/* Bits produced from the start of a pass until x seconds into it (0 <= x <= L). */
static double pass_bits(const KMESIM_CONFIG *cfg, double x)
{
    double len = cfg->pass_seconds;

    return cfg->peak_bps * len / M_PI * (1.0 - cos(M_PI * x / len));
}

double kmesim_supply_bits(const KMESIM_CONFIG *cfg, double t)
{
    double rel, k, x;

    if (t <= 0)
        return 0;
    if (cfg->profile == KMESIM_CONSTANT)
        return cfg->rate_bps * t;
    rel = t - cfg->first_pass_seconds;
    if (rel <= 0)
        return 0;
    k = floor(rel / cfg->period_seconds);
    x = rel - k * cfg->period_seconds;
    if (x > cfg->pass_seconds)
        x = cfg->pass_seconds;
    return k * pass_bits(cfg, cfg->pass_seconds) + pass_bits(cfg, x);
}

double kmesim_supply_rate(const KMESIM_CONFIG *cfg, double t, int *in_pass)
{
    double rel, x;

    *in_pass = 0;
    if (cfg->profile == KMESIM_CONSTANT) {
        *in_pass = 1;
        return cfg->rate_bps;
    }
    rel = t - cfg->first_pass_seconds;
    if (rel < 0)
        return 0;
    x = fmod(rel, cfg->period_seconds);
    if (x >= cfg->pass_seconds)
        return 0;
    *in_pass = 1;
    return cfg->peak_bps * sin(M_PI * x / cfg->pass_seconds);
}

double kmesim_next_pass_in(const KMESIM_CONFIG *cfg, double t)
{
    double rel, x;

    if (cfg->profile == KMESIM_CONSTANT)
        return 0;
    rel = t - cfg->first_pass_seconds;
    if (rel < 0)
        return -rel;
    x = fmod(rel, cfg->period_seconds);
    if (x < cfg->pass_seconds)
        return 0;
    return cfg->period_seconds - x;
}
