/**
 * deploy/kubernetes/ (a kustomize base for several nodes) is checked offline: every resource the kustomization
 * lists is validated against the Kubernetes API schemas (kubernetes-models), and the pieces must fit together —
 * selectors match the pods, probes hit /api/health on the container's port, the PodDisruptionBudget leaves room for
 * a drain and the autoscaler never goes below it, the migrations run as a Job with the same image, secrets are only
 * referenced, every variable set is one the server knows (server/env.ts), and PostgreSQL and Redis are external.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import * as appsV1 from "kubernetes-models/apps/v1";
import * as autoscalingV2 from "kubernetes-models/autoscaling/v2";
import * as batchV1 from "kubernetes-models/batch/v1";
import * as policyV1 from "kubernetes-models/policy/v1";
import * as coreV1 from "kubernetes-models/v1";

const BASE = "deploy/kubernetes";

/** The model class of each kind the base may use; an unknown kind fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ServiceAccount": coreV1.ServiceAccount,
  "v1/ConfigMap": coreV1.ConfigMap,
  "v1/Service": coreV1.Service,
  "apps/v1/Deployment": appsV1.Deployment,
  "policy/v1/PodDisruptionBudget": policyV1.PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": autoscalingV2.HorizontalPodAutoscaler,
  "batch/v1/Job": batchV1.Job,
};

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are checked field by field below */
type Manifest = Record<string, any>;

const kustomization = parseAllDocuments(readFileSync(path.join(BASE, "kustomization.yaml"), "utf8"))[0].toJS() as Manifest;
const files: string[] = kustomization.resources;
const manifests: Manifest[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(BASE, file), "utf8")).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as Manifest;
  }),
);
const one = (kind: string, component?: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind && (!component || m.metadata.labels?.["app.kubernetes.io/component"] === component));
  expect(found, `${kind} ${component ?? ""}`).toHaveLength(1);
  return found[0];
};
const deployment = one("Deployment");
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0];
const job = one("Job");
const configMap = one("ConfigMap");

const envVariables = [...readFileSync("server/env.ts", "utf8").matchAll(/^ {4}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
const SECRET_VARIABLES = ["AUTH_SECRET", "SESSION_SECRET", "DATABASE_URL", "REDIS_URL", "GOOGLE_CLIENT_SECRET", "METRICS_TOKEN"];

describe("deploy/kubernetes: a kustomize base for several nodes", () => {
  it("lists every manifest in the folder, and only files that exist", () => {
    expect(kustomization).toMatchObject({ apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" });
    const inFolder = readdirSync(BASE).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...files].sort()).toEqual(inFolder.sort());
    for (const file of files) expect(existsSync(path.join(BASE, file)), file).toBe(true);
  });

  it.each(manifests.map((m) => [`${m.kind} ${m.metadata?.name}`, m] as const))("%s is valid against the Kubernetes API schema", (_name, manifest) => {
    const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    expect(Model, `${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
    expect(() => new Model(manifest as never).validate()).not.toThrow();
    expect(manifest.metadata.labels?.["app.kubernetes.io/name"]).toBe("mcp-oauth-server");
  });

  it("runs several replicas that the Service selects, spread over machines, rolled without losing capacity", () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(3);
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels);
    const service = manifests.find((m) => m.kind === "Service" && m.spec.type === "ClusterIP")!;
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(service.spec.ports[0].targetPort).toBe("http");
    expect(service.spec.sessionAffinity ?? "None").toBe("None");
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(podSpec.topologySpreadConstraints[0].labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });

  it("probes /api/health on the container's port; stops gracefully", () => {
    const port = container.ports.find((p: Manifest) => p.name === "http");
    expect(String(port.containerPort)).toBe(configMap.data.PORT);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      expect(container[probe].httpGet, probe).toEqual({ path: "/api/health", port: "http" });
      // /api/health answers within 2 s, healthy or not (server/http/health.ts).
      expect(container[probe].timeoutSeconds, probe).toBeGreaterThanOrEqual(3);
    }
    // Liveness must outlast a short database outage (every node turns unhealthy at once, restarts would not help).
    expect(container.livenessProbe.periodSeconds * container.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(60);
    const pause = Number(container.lifecycle.preStop.exec.command[1]);
    // preStop pause + the server's graceful shutdown (RunningServer.close, 10 s) fit in the grace period.
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(pause + 10);
  });

  it("keeps a drain possible and never autoscales below the budget", () => {
    const pdb = one("PodDisruptionBudget");
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBeGreaterThanOrEqual(1);
    const hpa = one("HorizontalPodAutoscaler");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(deployment.spec.replicas);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    // The HPA scales on CPU utilisation, which needs a CPU request.
    expect(container.resources.requests.cpu).toBeTruthy();
  });

  it("runs the migrations as a Job with the same image and database", () => {
    const migrate = job.spec.template.spec.containers[0];
    expect(migrate.image).toBe(container.image);
    expect(migrate.command.join(" ")).toContain("scripts/migrate.ts");
    expect(existsSync("scripts/migrate.ts")).toBe(true);
    expect(job.spec.template.spec.restartPolicy).toMatch(/^(OnFailure|Never)$/);
    expect(migrate.env.find((e: Manifest) => e.name === "DATABASE_URL").valueFrom.secretKeyRef).toEqual(
      container.env.find((e: Manifest) => e.name === "DATABASE_URL").valueFrom.secretKeyRef,
    );
    // The kustomization's image entry is the one both containers name.
    expect(kustomization.images.map((i: Manifest) => i.name)).toContain(container.image);
  });

  it("takes secrets by reference only, and sets only variables the server knows", () => {
    expect(manifests.some((m) => m.kind === "Secret")).toBe(false);
    const set: Array<{ name: string; valueFrom?: Manifest; value?: string }> = [
      ...container.env,
      ...job.spec.template.spec.containers[0].env,
      ...Object.entries(configMap.data as Record<string, string>).map(([name, value]) => ({ name, value })),
    ];
    for (const variable of set) {
      if (variable.name !== "HOME") expect(envVariables, variable.name).toContain(variable.name);
      if (SECRET_VARIABLES.includes(variable.name)) {
        expect(variable.value, variable.name).toBeUndefined();
        expect(variable.valueFrom?.secretKeyRef?.name, variable.name).toBe("mcp-oauth-server-secrets");
      }
    }
    for (const name of ["AUTH_SECRET", "DATABASE_URL", "REDIS_URL"]) expect(container.env.map((e: Manifest) => e.name)).toContain(name);
    expect(container.envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }]);
    expect(configMap.data.NODE_ENV).toBe("production");
  });

  it("runs as the image's non-root user, read-only, without a service account token", () => {
    const uid = Number(/useradd[^\n]*--uid (\d+)/.exec(readFileSync("Dockerfile", "utf8"))?.[1]);
    for (const spec of [podSpec, job.spec.template.spec]) {
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid });
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    }
  });

  it("treats PostgreSQL and Redis as external services", () => {
    const external = manifests.filter((m) => m.kind === "Service" && m.spec.type === "ExternalName").map((m) => [m.metadata.name, m.spec.ports[0].port]);
    expect(external).toEqual([
      ["postgres", 5432],
      ["redis", 6379],
    ]);
    expect(manifests.some((m) => ["StatefulSet", "PersistentVolumeClaim"].includes(m.kind))).toBe(false);
  });
});
