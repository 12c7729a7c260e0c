#!/usr/bin/env bash
# Start a Docker engine for the docker-marked tests and build the local test image.
#
# Idempotent; run by CI as root. It always exits 0: when no engine can start it prints why and the
# docker tests skip themselves (they say so), while the rest of the suite still runs.
#
# No registry is reachable on CI, so the test image ``flowd-test/busybox:latest`` is imported from a
# tarball of a minimal root file system: the busybox-static binary plus its applet symlinks.
# The engine runs with ``--bridge=none --iptables=false`` (no network namespaces to set up, no
# iptables in the sandbox), so containers must use network mode "none"; flowd's DockerRunner picks
# that by itself when the engine has no bridge network.
set -u

IMAGE="flowd-test/busybox:latest"
LOG="/tmp/flowd-dockerd.log"

say() { echo "docker-setup: $*"; }

engine_up() { docker info >/dev/null 2>&1; }

install_packages() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    [ -x /bin/busybox ] || command -v busybox >/dev/null 2>&1 || missing+=(busybox-static)
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        say "need ${missing[*]} but not running as root; cannot install"
        return 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed (continuing)"
    # docker.io pulls in containerd and runc; keep the install small.
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/flowd-docker-apt.log 2>&1; then
        say "apt-get install ${missing[*]} failed: $(tail -n 1 /tmp/flowd-docker-apt.log)"
        return 1
    fi
}

start_engine() {
    if engine_up; then
        say "engine already reachable"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        say "dockerd is not installed"
        return 1
    fi
    if [ -n "${DOCKER_HOST:-}" ]; then
        say "DOCKER_HOST=$DOCKER_HOST is set but unreachable; starting a local engine on the default socket"
        unset DOCKER_HOST
    fi
    say "starting dockerd (log: $LOG)"
    nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
        >"$LOG" 2>&1 </dev/null &
    local i
    for i in $(seq 1 30); do
        if engine_up; then
            say "engine up after ${i}s"
            return 0
        fi
        if ! kill -0 $! 2>/dev/null; then
            say "dockerd exited: $(grep -E 'level=(error|fatal)' "$LOG" | tail -n 1)"
            return 1
        fi
        sleep 1
    done
    say "engine did not answer within 30s: $(tail -n 1 "$LOG")"
    return 1
}

build_image() {
    if docker image inspect "$IMAGE" >/dev/null 2>&1; then
        say "image $IMAGE already present"
        return 0
    fi
    local bb
    bb="$(command -v busybox || echo /bin/busybox)"
    if [ ! -x "$bb" ]; then
        say "busybox binary not found; cannot build $IMAGE"
        return 1
    fi
    local root
    root="$(mktemp -d /tmp/flowd-busybox-root.XXXXXX)"
    # mktemp makes the folder 0700; it becomes the container's / and must be readable by any user.
    chmod 755 "$root"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
    chmod 1777 "$root/tmp"
    cp "$bb" "$root/bin/busybox"
    # --install -s writes absolute symlinks (/bin/sh -> /bin/busybox) valid inside the container.
    chroot "$root" /bin/busybox --install -s /bin 2>/dev/null \
        || for applet in $("$bb" --list); do ln -sf /bin/busybox "$root/bin/$applet"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    if tar -C "$root" -c . | docker import \
        --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$IMAGE" >/dev/null; then
        say "built $IMAGE"
    else
        say "docker import of $IMAGE failed"
    fi
    rm -rf "$root"
}

main() {
    if ! engine_up; then
        install_packages || { say "no Docker engine: packages missing; docker tests will be skipped"; return 0; }
        start_engine || { say "no Docker engine; docker tests will be skipped"; return 0; }
    fi
    build_image || say "test image unavailable; docker tests will be skipped"
    docker run --rm --network none "$IMAGE" /bin/sh -c 'echo docker-setup: smoke test ok' \
        || say "smoke test failed (the docker tests will report why)"
    return 0
}

main
exit 0
