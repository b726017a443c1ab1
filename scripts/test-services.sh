# Sourced by `make test` (and so by .ci/run): find PostgreSQL and Redis on loopback, start them when they are
# installed but stopped (installing them first where apt-get and root allow), and export the URLs the tests read.
# A service that cannot be had is left unset: its tests skip with the reason, or fail under HUB_REQUIRE_SERVICES=1.
_can_apt() { command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; }

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null 2>&1 || { _can_apt && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p /tmp/hub-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp/hub-redis \
      --logfile /tmp/hub-redis/redis.log >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
fi
if redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  export HUB_TEST_REDIS_URL="${HUB_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"
fi

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  ls /etc/postgresql >/dev/null 2>&1 || { _can_apt && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
  if ls /etc/postgresql >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 0.2; done
  fi
fi
if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null 2>&1 || true
  export HUB_TEST_POSTGRES_URL="${HUB_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
fi
