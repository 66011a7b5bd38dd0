#!/usr/bin/env bash
# What the tests need from the operating system, installed when missing (CI machines run as root
# with Debian's packages reachable): the en_US.UTF-8 locale, which onnxruntime's StringNormalizer
# kernel requires for the ONNX backend corpus's strnorm models.
set -euo pipefail
if locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-system-deps: the en_US.UTF-8 locale is missing; install it (Debian: apt-get install locales && locale-gen en_US.UTF-8)" >&2
  exit 0
fi
echo "ensure-system-deps: installing the en_US.UTF-8 locale"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq locales >/dev/null
sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
locale-gen >/dev/null
