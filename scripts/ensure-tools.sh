#!/usr/bin/env bash
# Ensure what a step of the README's path needs is installed, the way ensure-engine.sh does for
# the engine: present -> nothing to do; absent, as root on Debian/Ubuntu -> apt-get install;
# otherwise exit 2 with one sentence saying what to install.
#
#   ensure-tools.sh venv          python3 can create a virtual environment (python3-venv)
#   ensure-tools.sh debootstrap   the local base image can be built (debootstrap)
#   ensure-tools.sh podman        the Podman engine under test can start (podman)
set -euo pipefail

say() { printf 'setup: %s\n' "$*" >&2; }
fail() { say "$*"; exit 2; }

# tool -> (how to tell it is there, the Debian package, what it is for)
have() {
    case "$1" in
        venv) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ;;
        debootstrap) command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] ;;
        podman) command -v podman >/dev/null 2>&1 ;;
        *) fail "unknown tool '$1' (known: venv, debootstrap, podman)" ;;
    esac
}
package_of() { case "$1" in venv) echo python3-venv ;; *) echo "$1" ;; esac; }
purpose_of() {
    case "$1" in
        venv) echo "the virtual environment" ;;
        debootstrap) echo "building the local base image (or use HARNESS_IMAGES=official where a registry is reachable)" ;;
        podman) echo "the Podman engine under test (make engines)" ;;
    esac
}

missing=()
for tool in "$@"; do
    have "$tool" || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages=()
for tool in "${missing[@]}"; do packages+=("$(package_of "$tool")"); done
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    fail "${packages[*]} is needed for $(purpose_of "${missing[0]}") and is not installed; install it with your package manager (as root on Debian/Ubuntu, 'make' installs it itself) and try again."
fi
say "installing ${packages[*]} with apt..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${packages[@]}" >/dev/null
for tool in "${missing[@]}"; do
    have "$tool" || fail "installing $(package_of "$tool") did not provide $tool; install it by hand and try again."
done
