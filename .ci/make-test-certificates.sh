#!/usr/bin/env bash
# Makes the certificates the TLS tests use, into the folder given (default
# .build/test-certificates): two certificate authorities (cluster-ca and other-ca), and
# for each a node certificate and key (node.pem/node.key signed by cluster-ca,
# stranger.pem/stranger.key signed by other-ca). Every certificate names 127.0.0.1 and
# localhost. Valid for two days: they are made afresh for every run.
set -euo pipefail
out="${1:-.build/test-certificates}"
mkdir -p "$out"
cd "$out"
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.pem" 2>/dev/null
}
make_leaf() { # name, ca
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
make_ca cluster-ca
make_ca other-ca
make_leaf node cluster-ca
make_leaf stranger other-ca
echo "test certificates in $(pwd)"
