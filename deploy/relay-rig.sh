#!/usr/bin/env bash
# Sets up the relay rig (issue 20, rig/): the agent's PC as an X display of its own (Xvfb and the
# openbox window manager) with Debian's chromium on it, and x11vnc as the remote-access tool a
# colluder drives it through, on top of the xrdp dev desktop the agent works in. Idempotent; needs
# root. The rig starts and stops its own Xvfb, openbox and x11vnc; nothing runs after this script.
#
#   sudo bash deploy/relay-rig.sh
#   vdiguard eval relay --keys-file <aalto>/1020_keystrokes.txt --mouse-file <sapimouse>/user1/<session>.csv
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "relay-rig.sh: run as root (it installs packages)" >&2
  exit 1
fi

needed=()
for pkg in xvfb openbox x11vnc chromium fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || needed+=("$pkg")
done
if [ ${#needed[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi

# The agent works in an xrdp desktop of its own (account vdiguard-test21 by default).
VDIGUARD_DESKTOP_USERS=${VDIGUARD_DESKTOP_USERS:-24} bash "$(dirname "$0")/dev-desktop.sh"

# Its xterm reads everything typed into cat, so that the recorded keys the rig plays run nothing
# and no set-up typing has to enter the session (the scorer would take it for the agent's typing).
# dev-desktop.sh gives every account a plain shell again: run this script after it. A session
# left from before is ended, so that the next connection starts with this one.
rig_user=${VDIGUARD_RIG_DESKTOP_USER:-vdiguard-test21}
cat > "/home/$rig_user/.xsession" <<'XS'
#!/bin/sh
xsetroot -solid '#336699' 2>/dev/null
exec xterm -geometry 80x24+20+20 -bg white -fg black -e sh -c 'exec cat > /dev/null'
XS
chown "$rig_user:" "/home/$rig_user/.xsession"
pkill -u "$rig_user" 2>/dev/null || true
echo "relay rig ready: Xvfb $(dpkg-query -W -f='${Version}' xvfb), openbox, x11vnc $(dpkg-query -W -f='${Version}' x11vnc)"
