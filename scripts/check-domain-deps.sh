#!/usr/bin/env bash
# The kernel and the domain crates stay pure: no SQL driver, web framework, HTTP client, mail,
# XML or PDF library, and no async runtime in their normal (non-dev) dependency tree. Fails
# naming the crate and the offending dependency. Run by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(sqlx|sqlx-core|rusqlite|libsqlite3-sys|tokio-postgres|postgres|deadpool-postgres|axum|hyper|hyper-util|reqwest|ureq|lettre|quick-xml|xml-rs|roxmltree|libxml|printpdf|lopdf|tokio|rustls|ring)$'
status=0
for crate in kernel messaging payments opendata; do
    # Not --offline: on a fresh clone this fetches the dependencies cargo test needs anyway.
    deps=$(cargo tree --locked -p "$crate" -e normal --prefix none --format '{p}' 2>/dev/null \
        | awk '{print $1}' | sort -u)
    if [ -z "$deps" ]; then
        echo "check-domain-deps: cannot read the dependency tree of $crate" >&2
        exit 2
    fi
    bad=$(printf '%s\n' "$deps" | grep -E "$forbidden" || true)
    if [ -n "$bad" ]; then
        echo "check-domain-deps: $crate depends on: $(echo $bad)" >&2
        status=1
    fi
    # Domains meet in the use-case layer (ops), never in each other.
    for other in kernel messaging payments opendata; do
        if [ "$other" != "$crate" ] && [ "$other" != kernel ] && printf '%s\n' "$deps" | grep -qx "$other"; then
            echo "check-domain-deps: domain $crate depends on domain $other" >&2
            status=1
        fi
    done
done
exit $status
