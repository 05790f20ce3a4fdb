# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /flashlive ./cmd/flashlive

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /flashlive /flashlive
ENV FLASHLIVE_HTTP_ADDR=:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/flashlive"]
