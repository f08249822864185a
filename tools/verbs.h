/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl's verbs, in the order of `vgpuctl --help`: one line each. A verb
 * NAME is `const struct verb verb_NAME` in a file of its own (vgpuctl.h).
 * No include guard: included with different definitions of VERB().
 */
VERB(list)
VERB(parents)
VERB(types)
VERB(show)
VERB(inventory)
VERB(create)
VERB(remove)
VERB(define)
VERB(undefine)
VERB(start)
VERB(stop)
VERB(modify)
VERB(autostart)
VERB(monitor)
VERB(mdevctl)
VERB(regions)
VERB(irqs)
VERB(screenshot)
VERB(vnc)
VERB(migration)
VERB(stats)
VERB(qos)
VERB(top)
VERB(metrics)
VERB(help)
