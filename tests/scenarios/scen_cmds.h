/* scen_cmds.h - commands that step one input into one node
 * (scen_cmds_input.c) and membership commands (scen_cmds_conf.c), called
 * by the dispatcher in scen_cmds.c. */
#ifndef NICRAFT_SCEN_CMDS_H
#define NICRAFT_SCEN_CMDS_H

#include <stdbool.h>

#include "scen.h"
#include "scen_args.h"

/* Runs propose, read-index, transfer, inject, compact, status, log or
 * stats; false when a->v[0] is none of them. */
bool scen_run_input_command(struct scen_cluster *c, struct scen_args *a);

/* Runs add-node, conf, ready or progress (scen_cmds_conf.c); false when
 * a->v[0] is none of them. */
bool scen_run_conf_command(struct scen_cluster *c, struct scen_args *a);

#endif
