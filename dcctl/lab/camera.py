"""A real RTSP camera for the lab: an H.264 test pattern behind RTSP basic auth.

Why a real stream: the NVR, Prometheus probes and `ffprobe` checks that dcctl
deploys must be rehearsed against something that speaks RTSP and sends H.264,
not against a port that merely accepts TCP. GStreamer's RTSP server is the
smallest thing on Debian that does that.

This file is deliberately standalone (stdlib + PyGObject only): it runs with the
SYSTEM interpreter `/usr/bin/python3`, which has python3-gi, inside the camera's
network namespace, and must not import dcctl (whose dependencies live in a venv):

    /usr/bin/python3 dcctl/lab/camera.py --port 554 --path /stream \
        --user admin --password-file /var/lib/dcctl/lab/ID/secrets/... [--pid-file F]

Debian packages: python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good
gstreamer1.0-plugins-ugly (x264enc). The media pipeline is only built when a
client asks for the stream (DESCRIBE/PLAY), and it is shared between clients, so
an idle camera costs no CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

PIPELINE = (
    "( videotestsrc is-live=true pattern=smpte "
    "! video/x-raw,width=320,height=240,framerate=10/1 "
    "! clockoverlay "
    "! x264enc tune=zerolatency bitrate=256 key-int-max=20 "
    "! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
ROLE = "camera-user"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Lab RTSP camera (H.264 test pattern)")
    p.add_argument("--port", type=int, default=554)
    p.add_argument("--path", default="/stream", help="RTSP mount path, e.g. /stream")
    p.add_argument("--address", default="0.0.0.0", help="listen address")
    p.add_argument("--user", default=None, help="RTSP basic-auth user (omit: no auth)")
    p.add_argument("--password-file", type=Path, default=None)
    p.add_argument("--pid-file", type=Path, default=None)
    p.add_argument("--no-overlay", action="store_true", help="omit the clock overlay")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if not args.path.startswith("/"):
        print("camera: --path must start with '/'", file=sys.stderr)
        return 2
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        from gi.repository import GLib, Gst, GstRtspServer
    except (ImportError, ValueError) as exc:
        print(
            f"camera: GStreamer RTSP server not available ({exc}); install with: apt-get "
            "install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good "
            "gstreamer1.0-plugins-ugly",
            file=sys.stderr,
        )
        return 3

    Gst.init(None)
    pipeline = PIPELINE.replace("! clockoverlay ", "") if args.no_overlay else PIPELINE
    if Gst.ElementFactory.find("clockoverlay") is None:
        pipeline = PIPELINE.replace("! clockoverlay ", "")
    if Gst.ElementFactory.find("x264enc") is None:
        print("camera: x264enc missing; apt-get install gstreamer1.0-plugins-ugly", file=sys.stderr)
        return 3

    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(pipeline)
    factory.set_shared(True)

    if args.user:
        if args.password_file is None:
            print("camera: --user needs --password-file", file=sys.stderr)
            return 2
        password = args.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, password), token)
        server.set_auth(auth)
        structure = Gst.Structure.new_from_string(
            f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )
        if structure is None:
            print("camera: could not build RTSP permissions", file=sys.stderr)
            return 3
        factory.add_role_from_structure(structure)

    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"camera: cannot listen on {args.address}:{args.port}", file=sys.stderr)
        return 1

    loop = GLib.MainLoop()

    def _stop(*_: object) -> bool:
        loop.quit()
        return False

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, _stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, _stop)
    if args.pid_file:
        args.pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    auth_note = f"basic auth user {args.user}" if args.user else "no auth"
    print(
        f"camera: rtsp://{args.address}:{args.port}{args.path} ({auth_note})",
        file=sys.stderr,
        flush=True,
    )
    try:
        loop.run()
    finally:
        if args.pid_file:
            with contextlib.suppress(OSError):
                if args.pid_file.read_text(encoding="utf-8").strip() == str(os.getpid()):
                    args.pid_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
