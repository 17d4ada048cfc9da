#!/bin/sh
# A tiny HTTP responder standing in for an app server: it serves the host's backend list.
# exec keeps the PID, so the pid file names the server process itself.
port="$1"
echo $$ > /run/strata-demo.pid
exec /usr/bin/python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open("/etc/strata-demo/peers.conf", "rb").read()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
' "$port"
