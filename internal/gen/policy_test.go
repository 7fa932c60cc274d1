package gen

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/serializer"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	k8saudit "k8s.io/apiserver/pkg/audit"

	"github.com/auditstream/auditstream/internal/reference"
)

// strictDecoder is the first decoder the apiserver's policy loader tries;
// a generated policy must pass it, so that loading logs no warning.
var strictDecoder = serializer.NewCodecFactory(k8saudit.Scheme, serializer.EnableStrict).UniversalDecoder()

// TestPolicyValid loads thousands of generated policies the way the
// apiserver does, and counts the features they use: all must come up.
func TestPolicyValid(t *testing.T) {
	var yaml, json, catchAll int
	seen := map[string]int{}
	for seed := range uint64(5000) {
		data := Policy(rand.New(rand.NewPCG(seed, 1)))
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			json++
		} else {
			yaml++
		}
		p, err := reference.LoadPolicy(data)
		if err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, data)
		}
		if _, _, err := strictDecoder.Decode(data, nil, &auditinternal.Policy{}); err != nil {
			t.Fatalf("seed %d: strict decoding: %v\n%s", seed, err, data)
		}
		policyFeatures(p, seen)
		if last := p.Rules[len(p.Rules)-1]; len(last.Users)+len(last.UserGroups)+len(last.Verbs)+len(last.Resources)+
			len(last.Namespaces)+len(last.NonResourceURLs) == 0 {
			catchAll++
		}
	}
	if yaml < 2000 || json < 2000 || catchAll < 2000 {
		t.Errorf("yaml %d, json %d, ending with a catch-all %d", yaml, json, catchAll)
	}
	for _, want := range []string{
		"level:None", "level:Metadata", "level:Request", "level:RequestResponse", "users", "userGroups", "verbs",
		"group:core", "group:apps", "group:*", "group only", "resource:exact", "resource:res/sub", "resource:res/*",
		"resource:*/sub", "resource:*", "resource:*/*", "resourceNames", "namespaces", "namespace:\"\"",
		"url:exact", "url:prefix*", "url:*", "policy omitStages", "rule omitStages", "policy omitManagedFields:true",
		"rule omitManagedFields:true", "rule omitManagedFields:false", "rule omitManagedFields:unset",
	} {
		if seen[want] == 0 {
			t.Errorf("no generated policy has %s", want)
		}
	}
}

func policyFeatures(p *auditinternal.Policy, seen map[string]int) {
	if len(p.OmitStages) > 0 {
		seen["policy omitStages"]++
	}
	if p.OmitManagedFields {
		seen["policy omitManagedFields:true"]++
	}
	for _, ru := range p.Rules {
		seen["level:"+string(ru.Level)]++
		for name, n := range map[string]int{"users": len(ru.Users), "userGroups": len(ru.UserGroups), "verbs": len(ru.Verbs),
			"namespaces": len(ru.Namespaces), "rule omitStages": len(ru.OmitStages)} {
			if n > 0 {
				seen[name]++
			}
		}
		switch {
		case ru.OmitManagedFields == nil:
			seen["rule omitManagedFields:unset"]++
		case *ru.OmitManagedFields:
			seen["rule omitManagedFields:true"]++
		default:
			seen["rule omitManagedFields:false"]++
		}
		for _, ns := range ru.Namespaces {
			if ns == "" {
				seen[`namespace:""`]++
			}
		}
		for _, gr := range ru.Resources {
			switch gr.Group {
			case "":
				seen["group:core"]++
			case "apps", "*":
				seen["group:"+gr.Group]++
			}
			if len(gr.Resources) == 0 {
				seen["group only"]++
			}
			if len(gr.ResourceNames) > 0 {
				seen["resourceNames"]++
			}
			for _, res := range gr.Resources {
				switch {
				case res == "*" || res == "*/*":
					seen["resource:"+res]++
				case strings.HasPrefix(res, "*/"):
					seen["resource:*/sub"]++
				case strings.HasSuffix(res, "/*"):
					seen["resource:res/*"]++
				case strings.Contains(res, "/"):
					seen["resource:res/sub"]++
				default:
					seen["resource:exact"]++
				}
			}
		}
		for _, u := range ru.NonResourceURLs {
			switch {
			case u == "*":
				seen["url:*"]++
			case strings.HasSuffix(u, "*"):
				seen["url:prefix*"]++
			default:
				seen["url:exact"]++
			}
		}
	}
}

func TestPolicyDeterministic(t *testing.T) {
	a := Policy(rand.New(rand.NewPCG(7, 7)))
	b := Policy(rand.New(rand.NewPCG(7, 7)))
	if !bytes.Equal(a, b) {
		t.Error("same seed, different policies")
	}
}
