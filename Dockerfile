# Multi-stage build of the `ceasefire` binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
COPY tests tests
RUN cargo build --release --locked --bin ceasefire

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home ceasefire
COPY --from=build /src/target/release/ceasefire /usr/local/bin/ceasefire
USER ceasefire
ENV CEASEFIRE_BIND=0.0.0.0:8080 \
    CEASEFIRE_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["ceasefire"]
CMD ["serve"]
