# Sourced by setup_rpi.sh: the Pi camera's packages where apt has them.
#
# picamera2 and libcamera are Raspberry Pi OS packages: plain Debian (or Ubuntu, or a PC) has none, and the daemon
# runs there with USB (usb:N), RTSP or file cameras instead, so their absence is one line and never an error.
install_picamera2() {
    if apt-cache show python3-picamera2 >/dev/null 2>&1; then
        apt-get install -y python3-picamera2 python3-libcamera libcamera-apps-lite
    else
        echo "note: python3-picamera2 is not in this system's apt sources (not Raspberry Pi OS): continuing without the Pi camera; use a USB (usb:N) or RTSP camera" >&2
    fi
}
