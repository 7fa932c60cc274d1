-- examples/policy.yaml (the Kubernetes documentation's sample audit policy)
-- written by hand as a Fluent Bit Lua filter, the way a user without
-- auditstream would filter audit events: tail with the json parser, this
-- filter, then out_kafka with format json. It is the "json+Lua+out_kafka"
-- baseline of benchmarks/e2e_bench_test.go, which checks that it keeps
-- exactly the events `auditstream apply` keeps of the generated log.
--
-- Rules in order, first match wins, as kube-apiserver evaluates them. The
-- request is read from the event as logged: objectRef for resource requests
-- (group, resource, subresource, namespace, name), requestURI's path for the
-- others, user.username and user.groups. Level None drops the event,
-- Metadata removes both bodies, Request the response body; omitStages
-- RequestReceived drops those events.

local level_rank = { None = 0, Metadata = 1, Request = 2, RequestResponse = 3 }

local function contains(list, value)
    if list == nil then
        return false
    end
    for _, v in ipairs(list) do
        if v == value then
            return true
        end
    end
    return false
end

-- policy_level returns the level of the first rule that matches.
local function policy_level(record)
    local user = record.user or {}
    local ref = record.objectRef
    if ref == nil then
        -- A non-resource request: only the nonResourceURLs rule can match
        -- before the catch-all.
        local path = string.match(record.requestURI or "", "^[^?]*")
        if contains(user.groups, "system:authenticated")
            and (string.sub(path, 1, 4) == "/api" or path == "/version") then
            return "None"
        end
        return "Metadata"
    end

    local core = ref.apiGroup == nil or ref.apiGroup == ""
    local resource = ref.resource or ""
    local sub = ref.subresource or ""

    if core and resource == "pods" and sub == "" then
        return "RequestResponse"
    end
    if core and resource == "pods" and (sub == "log" or sub == "status") then
        return "Metadata"
    end
    if core and resource == "configmaps" and sub == "" and ref.name == "controller-leader" then
        return "None"
    end
    if core and user.username == "system:kube-proxy" and record.verb == "watch"
        and sub == "" and (resource == "endpoints" or resource == "services") then
        return "None"
    end
    if core and resource == "configmaps" and sub == "" and ref.namespace == "kube-system" then
        return "Request"
    end
    if core and sub == "" and (resource == "secrets" or resource == "configmaps") then
        return "Metadata"
    end
    if core or ref.apiGroup == "extensions" then
        return "Request"
    end
    return "Metadata"
end

-- audit_policy is the filter's callback: -1 drops the record, 0 keeps it as
-- it is, 2 replaces it (keeping its timestamp).
function audit_policy(tag, timestamp, record)
    if record.stage == "RequestReceived" then
        return -1, 0, 0
    end
    local level = policy_level(record)
    if level == "None" then
        return -1, 0, 0
    end
    local logged = level_rank[record.level] or level_rank.RequestResponse
    if level_rank[level] >= logged then
        -- The policy can only lower what kube-apiserver logged.
        return 0, timestamp, record
    end
    record.level = level
    record.responseObject = nil
    if level == "Metadata" then
        record.requestObject = nil
    end
    return 2, timestamp, record
end
