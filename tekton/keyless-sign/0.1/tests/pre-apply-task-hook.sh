#!/usr/bin/env bash
# Sourced by the Tekton catalog's test harness (test/e2e-common.sh) with the
# copy of the Task to install in ${TMPF}. It gives the Task a registry
# sidecar (the harness's add_sidecar_registry, at localhost:5000) and a first
# step that pushes a fresh single-layer image there for the test to sign.

# The new step goes first under "  steps:" (GNU sed reads it from stdin),
# before add_sidecar_registry rewrites the file in its own YAML layout.
sed -i '/^  steps:$/r /dev/stdin' "${TMPF}" <<'STEP'
    - name: push-test-image
      image: gcr.io/go-containerregistry/crane:debug
      script: |
        #!/busybox/sh
        set -eu
        mkdir -p /tmp/layer
        cat /proc/sys/kernel/random/uuid > /tmp/layer/id
        tar -cf /tmp/layer.tar -C /tmp/layer id
        for i in $(seq 30); do
          crane append --new_layer /tmp/layer.tar --new_tag localhost:5000/keyless-test:latest && exit 0
          sleep 2
        done
        exit 1
STEP

add_sidecar_registry "${TMPF}"
