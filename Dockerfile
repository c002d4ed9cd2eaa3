# syntax=docker/dockerfile:1
#
# tandem in a container.
#
#   docker build -t tandem .
#   docker run --cap-add NET_ADMIN --device /dev/net/tun --network host \
#     -v /etc/tandem:/etc/tandem tandem run --config /etc/tandem/tandem.yaml
#
# --network host: the TAP devices, the peer link and the API live in the host's network
# namespace, where deploy/wire-nic.sh bridges the TAPs to the NICs (run it on the host).
# NET_ADMIN and /dev/net/tun are the only privileges tandem needs.

# Stage 1: compile one self-contained executable.
FROM denoland/deno:2.9.6 AS build
WORKDIR /src
# deno.loc[k]: copies the lock file when there is one, and nothing fails when there is not.
COPY deno.json deno.loc[k] ./
COPY main.ts ./
COPY mod ./mod
# `deno task compile` keeps the permission flags in one place (deno.json):
#   --allow-ffi --allow-read --allow-write --allow-net --allow-env --allow-run --allow-sys
RUN deno task compile && ./tandem version

# Stage 2: a slim runtime, with iproute2 for setting up and inspecting links, and OpenSSL's
# libcrypto for the peer link's HMAC (docs/performance.md).
FROM debian:bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends iproute2 libssl3 \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/tandem /usr/local/bin/tandem
VOLUME ["/etc/tandem"]
# Status API / dashboard / metrics (bound to api.listen; loopback unless configured).
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/tandem"]
CMD ["run", "--config", "/etc/tandem/tandem.yaml"]
