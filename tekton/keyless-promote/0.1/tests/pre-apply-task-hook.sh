#!/usr/bin/env bash
# Sourced by the Tekton catalog's test harness (test/e2e-common.sh) with the
# copy of the Task to install in ${TMPF}: it gives the Task a registry
# sidecar (the harness's add_sidecar_registry, at localhost:5000) to promote
# to.
add_sidecar_registry "${TMPF}"
