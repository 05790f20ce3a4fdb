# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /flashlive ./cmd/flashlive

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /flashlive /flashlive
# prod: the server refuses to start without FLASHLIVE_POSTGRES_URL,
# FLASHLIVE_REDIS_URL and a FLASHLIVE_JWT_SECRET of its own (at least 32
# bytes), all given at run time, never baked into the image.
ENV FLASHLIVE_ENV=prod
ENV FLASHLIVE_HTTP_ADDR=:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/flashlive"]
