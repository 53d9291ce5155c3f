#!/usr/bin/env bash
# Turns a Debian machine into a development desktop for the RDP bridge: xrdp + xorgxrdp with a
# plain xterm session, and test accounts. Idempotent: run it as often as you like. Needs root and
# no systemd (it starts the daemons itself when they are not running).
#
#   sudo bash deploy/dev-desktop.sh            # install, configure, start, create the accounts
#   VDIGUARD_DESKTOP_USERS=12 bash deploy/dev-desktop.sh
#
# Accounts: vdiguard-test1 .. vdiguard-testN, password "vdiguard-test" (override with
# VDIGUARD_DESKTOP_PASSWORD). xrdp resumes an existing session of the same user, so a test that
# needs a clean screen uses a user of its own. The desktop listens on 127.0.0.1:3389 only.
set -euo pipefail

users=${VDIGUARD_DESKTOP_USERS:-12}
password=${VDIGUARD_DESKTOP_PASSWORD:-vdiguard-test}
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" != 0 ]; then
  echo "dev-desktop.sh: run as root (it installs packages and creates accounts)" >&2
  exit 1
fi

# Packages: the RDP server, its X11 backend, a session, and the X tools the tests use (xwd takes a
# screenshot and netpbm converts it, to compare with the bridge's frames; xdotool reads the pointer;
# xclip reads and sets the session's clipboard for the agent page's clipboard test);
# openssl makes the test CA.
needed=()
for pkg in xrdp xorgxrdp xterm x11-apps xdotool x11-xserver-utils xclip netpbm openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || needed+=("$pkg")
done
if [ ${#needed[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi

# xrdp: loopback only, TLS security layer (the bridge supports no other), sessions of departed
# clients reaped after a minute so repeated test runs do not pile up X servers.
sed -i -E 's/^port=3389$/port=tcp:\/\/127.0.0.1:3389/' /etc/xrdp/xrdp.ini
sed -i -E 's/^security_layer=.*/security_layer=tls/' /etc/xrdp/xrdp.ini
sed -i -E 's/^KillDisconnected=.*/KillDisconnected=true/; s/^DisconnectedTimeLimit=.*/DisconnectedTimeLimit=60/' /etc/xrdp/sesman.ini

# xrdp's certificate, signed by a test CA of its own (for 127.0.0.1 and localhost), so the tests
# can connect to a CA-verified desktop as well as a pinned one and one with ignore-cert. The CA's
# certificate is public (vdiguard-test-ca.pem); its key stays with root. Made once: a desktop whose
# certificate changed is restarted below.
ca=/etc/xrdp/vdiguard-test-ca.pem
restart_xrdp=no
if [ ! -s "$ca" ]; then
  tmp=$(mktemp -d)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=vdiguard dev desktop test CA" \
    -keyout /etc/xrdp/vdiguard-test-ca.key -out "$tmp/ca.pem" 2>/dev/null
  chmod 600 /etc/xrdp/vdiguard-test-ca.key
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tmp/key.pem" -out "$tmp/req.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$tmp/ext.cnf"
  openssl x509 -req -in "$tmp/req.csr" -CA "$tmp/ca.pem" -CAkey /etc/xrdp/vdiguard-test-ca.key -CAcreateserial \
    -days 3650 -extfile "$tmp/ext.cnf" -out "$tmp/cert.pem" 2>/dev/null
  # Debian links these to the machine's snakeoil pair: replace the links, not what they point at.
  rm -f /etc/xrdp/cert.pem /etc/xrdp/key.pem
  install -m 644 "$tmp/cert.pem" /etc/xrdp/cert.pem
  install -m 640 -g xrdp "$tmp/key.pem" /etc/xrdp/key.pem
  install -m 644 "$tmp/ca.pem" "$ca"
  rm -rf "$tmp"
  restart_xrdp=yes
fi

# Test accounts with a session that is just an xterm on a plain background.
for i in $(seq 1 "$users"); do
  user="vdiguard-test$i"
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  echo "$user:$password" | chpasswd
  cat > "/home/$user/.xsession" <<'XS'
#!/bin/sh
xsetroot -solid '#336699' 2>/dev/null
exec xterm -geometry 80x24+20+20 -bg white -fg black
XS
  chmod 755 "/home/$user/.xsession"
  chown "$user:" "/home/$user/.xsession"
done

# Start the daemons unless they already run (no systemd here). A pid file left by a daemon that
# no longer runs (a machine image, a restart) makes the daemon refuse to start: remove it first.
if ! pgrep -x xrdp-sesman >/dev/null; then
  rm -f /var/run/xrdp/xrdp-sesman.pid
  xrdp-sesman
fi
if [ "$restart_xrdp" = yes ] && pgrep -x xrdp >/dev/null; then
  xrdp -k >/dev/null 2>&1 || pkill -x xrdp || true
  for _ in $(seq 1 50); do pgrep -x xrdp >/dev/null || break; sleep 0.1; done
fi
if ! pgrep -x xrdp >/dev/null; then
  rm -f /var/run/xrdp/xrdp.pid
  xrdp
fi
for _ in $(seq 1 50); do
  (exec 3<>/dev/tcp/127.0.0.1/3389) 2>/dev/null && { echo "dev desktop ready on 127.0.0.1:3389 ($users test accounts)"; exit 0; }
  sleep 0.2
done
echo "dev-desktop.sh: xrdp did not start listening on 127.0.0.1:3389; see /var/log/xrdp.log" >&2
exit 1
