# syntax=docker/dockerfile:1

# ---- build ----
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Module downloads get their own layer: rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/srm ./cmd/srm

# ---- run ----
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/srm /srm
ENV SRM_ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/srm"]
CMD ["serve"]
