package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfigRedisReplicas(t *testing.T) {
	const cluster = "redis+cluster://r1:6379,r2:6379,r3:6379"
	for _, tc := range []struct {
		name        string
		prod        bool
		env         map[string]string
		want        RedisReplicas
		wantWarning string
	}{
		{"one server: no wait (single-node dev)", false, nil, RedisReplicas{}, ""},
		{"cluster: one replica by default", false, map[string]string{"FLASHLIVE_REDIS_URL": cluster}, RedisReplicas{Min: 1}, ""},
		{"cluster in prod: one replica by default", true, map[string]string{"FLASHLIVE_REDIS_URL": cluster}, RedisReplicas{Min: 1}, ""},
		{"cluster, two replicas, timeout", false, map[string]string{"FLASHLIVE_REDIS_URL": cluster, "FLASHLIVE_REDIS_MIN_REPLICAS": "2", "FLASHLIVE_REDIS_REPLICA_TIMEOUT": "100ms"}, RedisReplicas{Min: 2, Timeout: 100 * time.Millisecond}, ""},
		{"one server with a replica", false, map[string]string{"FLASHLIVE_REDIS_MIN_REPLICAS": "1"}, RedisReplicas{Min: 1}, ""},
		{"cluster in dev told 0", false, map[string]string{"FLASHLIVE_REDIS_URL": cluster, "FLASHLIVE_REDIS_MIN_REPLICAS": "0"}, RedisReplicas{}, ""},
		{"cluster in prod told 0: allowed, warned", true, map[string]string{"FLASHLIVE_REDIS_URL": cluster, "FLASHLIVE_REDIS_MIN_REPLICAS": "0"}, RedisReplicas{}, "FLASHLIVE_REDIS_MIN_REPLICAS=0 on a Redis Cluster"},
		{"timeout bounds", false, map[string]string{"FLASHLIVE_REDIS_REPLICA_TIMEOUT": "2s"}, RedisReplicas{Timeout: 2 * time.Second}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := cfgDevEnv()
			if tc.prod {
				env = cfgProdEnv()
			}
			for k, v := range tc.env {
				env[k] = v
			}
			c, warnings, err := LoadConfig(cfgGetenv(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.RedisReplicas != tc.want {
				t.Fatalf("RedisReplicas = %+v, want %+v", c.RedisReplicas, tc.want)
			}
			found := false
			for _, w := range warnings {
				if strings.Contains(w, "FLASHLIVE_REDIS_MIN_REPLICAS") {
					found = tc.wantWarning != "" && strings.Contains(w, tc.wantWarning)
					if !found {
						t.Fatalf("warning %q, want none about replicas", w)
					}
				}
			}
			if tc.wantWarning != "" && !found {
				t.Fatalf("warnings %q, want one with %q", warnings, tc.wantWarning)
			}
		})
	}
	for _, tc := range []struct{ name, k, v, want string }{
		{"min not a number", "FLASHLIVE_REDIS_MIN_REPLICAS", "one", `FLASHLIVE_REDIS_MIN_REPLICAS "one" is not a whole number`},
		{"min negative", "FLASHLIVE_REDIS_MIN_REPLICAS", "-1", "FLASHLIVE_REDIS_MIN_REPLICAS must be between 0 and 5, not -1"},
		{"min six", "FLASHLIVE_REDIS_MIN_REPLICAS", "6", "FLASHLIVE_REDIS_MIN_REPLICAS must be between 0 and 5, not 6"},
		{"timeout not a duration", "FLASHLIVE_REDIS_REPLICA_TIMEOUT", "soon", `FLASHLIVE_REDIS_REPLICA_TIMEOUT "soon" is not a duration`},
		{"timeout too short", "FLASHLIVE_REDIS_REPLICA_TIMEOUT", "5ms", "FLASHLIVE_REDIS_REPLICA_TIMEOUT must be between 10ms and 2s, not 5ms"},
		{"timeout too long", "FLASHLIVE_REDIS_REPLICA_TIMEOUT", "3s", "FLASHLIVE_REDIS_REPLICA_TIMEOUT must be between 10ms and 2s, not 3s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := LoadConfig(cfgDev(tc.k, tc.v))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadConfig(%s=%s) = %v, want an error with %q", tc.k, tc.v, err, tc.want)
			}
		})
	}
}
