"use strict";
// Shoal's dashboard: polls the admin API (/v1/gateway, /v1/services, /v1/locks, /metrics)
// once a second and draws what it says. Everything that comes from the server goes into the page as text,
// never as markup: service names and metadata are whatever instances registered.
(() => {
  const pollMilliseconds = 1000;
  const windowMilliseconds = 10000;
  const maxServicesListed = 50;
  const historyLength = 60;
  const samples = [];
  // Requests and 5xx answers a second between consecutive polls, the newest last: the
  // tiles' sparklines.
  const history = [];
  let token = sessionStorage.getItem("shoal.token") || "";
  let timer = null;

  const byId = (id) => document.getElementById(id);

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value == null) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child == null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  class Unauthorized extends Error {}

  async function get(path, asText) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const response = await fetch(path, { headers, cache: "no-store" });
    if (response.status === 401) throw new Unauthorized();
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(path + " answered " + response.status);
    return asText ? response.text() : response.json();
  }

  // Held locks; `null` when the server has no lock API, or its backend cannot list them.
  async function lockList() {
    try {
      const answer = await get("/v1/locks");
      return answer ? answer.locks : null;
    } catch (error) {
      if (error instanceof Unauthorized) throw error;
      return null;
    }
  }

  // The Prometheus text format: `name{label="value",…} number` a line.
  function parseMetrics(text) {
    const series = new Map();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!match) continue;
      const labels = {};
      for (const label of (match[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[label[1]] = label[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      }
      const value = match[3] === "+Inf" ? Infinity : Number(match[3]);
      series.set(match[1] + JSON.stringify(labels), { name: match[1], labels, value });
    }
    return series;
  }

  // How much each counter grew between the oldest and the newest sample in the window. A
  // counter that went down was reset (shoal serve restarted): its new value is the growth.
  function growth(oldest, newest) {
    const grown = [];
    for (const [key, now] of newest) {
      const before = oldest.get(key);
      const start = before === undefined || before.value > now.value ? 0 : before.value;
      grown.push({ name: now.name, labels: now.labels, value: now.value - start });
    }
    return grown;
  }

  // A quantile from cumulative histogram buckets, as Prometheus's histogram_quantile
  // estimates it: linear within the bucket it falls in.
  function quantile(q, buckets) {
    if (buckets.length === 0) return null;
    const total = buckets[buckets.length - 1].count;
    if (total === 0) return null;
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (const bucket of buckets) {
      if (bucket.count >= rank) {
        if (bucket.le === Infinity) return { over: lower };
        const inBucket = bucket.count - below;
        return { value: lower + (bucket.le - lower) * (inBucket ? (rank - below) / inBucket : 1) };
      }
      lower = bucket.le;
      below = bucket.count;
    }
    return null;
  }

  const emptyRoute = () => ({
    requests: 0, errors: 0, retries: 0, upstreams: new Map(), buckets: [], own: new Map(),
  });

  // Requests, 5xx answers and retries a second over the window, in all and by route and
  // instance, with each route's latency histogram growth.
  function rates(seconds, grown) {
    const routes = new Map();
    const route = (label) => {
      if (!routes.has(label)) routes.set(label, emptyRoute());
      return routes.get(label);
    };
    const totals = { requests: 0, errors: 0, retries: 0 };
    for (const { name, labels, value } of grown) {
      const perSecond = value / seconds;
      if (name === "shoal_gateway_requests_total") {
        const failed = Number(labels.status) >= 500;
        const r = route(labels.route);
        r.requests += perSecond;
        totals.requests += perSecond;
        if (failed) {
          r.errors += perSecond;
          totals.errors += perSecond;
        }
        if (labels.upstream === "none") {
          r.own.set(labels.status, (r.own.get(labels.status) || 0) + perSecond);
        } else {
          const u = r.upstreams.get(labels.upstream) || { requests: 0, errors: 0 };
          u.requests += perSecond;
          if (failed) u.errors += perSecond;
          r.upstreams.set(labels.upstream, u);
        }
      } else if (name === "shoal_gateway_retries_total") {
        route(labels.route).retries += perSecond;
        totals.retries += perSecond;
      } else if (name === "shoal_gateway_request_duration_seconds_bucket") {
        route(labels.route).buckets.push({ le: Number(labels.le === "+Inf" ? Infinity : labels.le), count: value });
      }
    }
    for (const r of routes.values()) r.buckets.sort((a, b) => a.le - b.le);
    return { totals, routes };
  }

  function gauge(series, name, labels) {
    for (const s of series.values()) {
      if (s.name !== name) continue;
      if (Object.entries(labels || {}).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
    return null;
  }

  const rate = (value) =>
    value == null ? "–" : value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);

  function milliseconds(estimate) {
    if (estimate == null) return "–";
    if (estimate.over != null) return "> " + (estimate.over * 1000).toLocaleString("en-US") + " ms";
    const ms = estimate.value * 1000;
    return (ms >= 10 ? Math.round(ms) : ms.toPrecision(2)) + " ms";
  }

  // A bar as wide as the share; set through the style object, which the page's
  // Content-Security-Policy allows (a style attribute it does not).
  function bar(share) {
    const node = element("span", { class: "bar" });
    node.style.width = Math.min(100, share).toFixed(0) + "%";
    return node;
  }

  function tile(label, value, id, detail, spark) {
    return element("div", { class: "tile" },
      element("div", { class: "value", id }, value),
      element("div", { class: "label" }, label),
      detail ? element("div", { class: "detail" }, detail) : null,
      spark || null);
  }

  // A line of the last minute's values, scaled to the largest; drawn through the DOM, which
  // the page's Content-Security-Policy allows.
  function sparkline(values, id) {
    const svgNamespace = "http://www.w3.org/2000/svg";
    const width = 120;
    const height = 28;
    const svg = document.createElementNS(svgNamespace, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("id", id);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("preserveAspectRatio", "none");
    if (values.length < 2) return svg;
    const top = Math.max(...values, 1e-9);
    const step = width / (historyLength - 1);
    const start = width - step * (values.length - 1);
    const points = values.map((v, i) =>
      (start + i * step).toFixed(1) + "," + (height - 1 - (v / top) * (height - 2)).toFixed(1));
    const line = document.createElementNS(svgNamespace, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.append(line);
    return svg;
  }

  function table(headings, rows) {
    return element("table", null,
      element("thead", null, element("tr", null, ...headings.map((h) => element("th", null, h)))),
      element("tbody", null, ...rows));
  }

  function renderTiles(gateway, metrics, measured) {
    const t = measured ? measured.totals : null;
    const share = t && t.requests > 0 ? ((100 * t.errors) / t.requests).toFixed(1) + "% of requests" : null;
    const open = gauge(metrics, "shoal_gateway_upstream_connections", { state: "open" });
    const idle = gauge(metrics, "shoal_gateway_upstream_connections", { state: "idle" });
    const http2 = gateway.http2_connections ? gateway.http2_connections + " HTTP/2" : null;
    const mode = [gateway.tls ? "HTTPS" : "HTTP", http2, gateway.draining ? "draining" : null].filter(Boolean).join(", ");
    // gRPC calls, once there were any: how many since the start, and how many were not OK.
    const grpc = gateway.grpc_calls
      ? tile("gRPC calls", gateway.grpc_calls, "grpc-calls", gateway.grpc_errors + " not OK")
      : null;
    byId("tiles").replaceChildren(
      tile("requests/s", t ? rate(t.requests) : "–", "requests-rate", null,
        sparkline(history.map((h) => h.requests), "requests-history")),
      tile("5xx/s", t ? rate(t.errors) : "–", "errors-rate", share,
        sparkline(history.map((h) => h.errors), "errors-history")),
      tile("retries/s", t ? rate(t.retries) : "–", "retries-rate"),
      tile("client connections", gateway.connections, "connections", mode),
      tile("upstream connections", open == null ? "–" : open, "upstream-connections",
        idle == null ? null : idle + " idle"),
      ...(grpc ? [grpc] : []));
  }

  // The registry's id of the instance of `service` at `address` (HOST:PORT), if it is listed.
  function registeredID(details, service, address) {
    const detail = details.get(service);
    const found = detail ? detail.instances.find((i) => i.address + ":" + i.port === address) : null;
    return found ? found.id : null;
  }

  function addressCell(details, service, address) {
    const id = registeredID(details, service, address);
    return element("td", { class: "address" }, address, id ? element("span", { class: "id" }, " " + id) : null);
  }

  function renderRoutes(gateway, measured, details) {
    const cards = gateway.routes.map((route) => {
      const label = (route.host || "") + route.prefix;
      const r = measured ? measured.routes.get(label) || emptyRoute() : null;
      const total = r ? [...r.upstreams.values()].reduce((sum, u) => sum + u.requests, 0) : 0;
      const rows = route.instances.map((instance) => {
        const u = r ? r.upstreams.get(instance.address) : null;
        const share = u && total > 0 ? (100 * u.requests) / total : 0;
        return element("tr", { "data-instance": instance.address, "data-share": share.toFixed(1) },
          addressCell(details, route.service, instance.address),
          element("td", { class: instance.healthy ? "good" : "bad" },
            instance.healthy ? "passing" : "failing checks"),
          element("td", { class: instance.ejected ? "bad" : null },
            instance.ejected ? "ejected (" + instance.ejections + " in a row)" : "no"),
          element("td", null, instance.circuit || "–"),
          element("td", { class: "number" }, instance.in_flight),
          element("td", { class: "number" },
            route.strategy === "peakEWMA" ? instance.latency_ms.toFixed(2) + " ms" : "–"),
          element("td", { class: "number" }, r ? rate(u ? u.requests : 0) : "–"),
          element("td", { class: "share" },
            bar(share),
            element("span", null, r ? share.toFixed(0) + "%" : "–")),
          element("td", { class: "number" + (u && u.errors > 0 ? " bad" : "") },
            r ? rate(u ? u.errors : 0) : "–"));
      });
      // Instances that answered in the window but are no longer in the balancer's set.
      if (r) {
        const listed = new Set(route.instances.map((i) => i.address));
        for (const [address, u] of r.upstreams) {
          if (listed.has(address) || u.requests === 0) continue;
          const share = total > 0 ? (100 * u.requests) / total : 0;
          rows.push(element("tr", { class: "gone", "data-instance": address, "data-share": share.toFixed(1) },
            addressCell(details, route.service, address),
            element("td", { colspan: 5 }, "no longer in the set (deregistered, or failing its checks)"),
            element("td", { class: "number" }, rate(u.requests)),
            element("td", { class: "share" }, element("span", null, share.toFixed(0) + "%")),
            element("td", { class: "number" + (u.errors > 0 ? " bad" : "") }, rate(u.errors))));
        }
      }
      const own = r ? [...r.own].filter(([, v]) => v > 0).map(([status, v]) => status + ": " + rate(v) + "/s") : [];
      return element("article", { class: "route", "data-route": label },
        element("h3", null, (route.host ? route.host + " " : "") + route.prefix, " → ",
          element("span", { class: "service" }, route.service),
          element("span", { class: "strategy" }, route.strategy),
          route.protocol === "h2c" ? element("span", { class: "strategy" }, "h2c") : null),
        element("p", { class: "figures" },
          "requests/s ", element("b", { class: "route-rate" }, r ? rate(r.requests) : "–"),
          " · 5xx/s ", element("b", null, r ? rate(r.errors) : "–"),
          " · retries/s ", element("b", null, r ? rate(r.retries) : "–"),
          " · p50 ", element("b", null, r ? milliseconds(quantile(0.5, r.buckets)) : "–"),
          " · p99 ", element("b", null, r ? milliseconds(quantile(0.99, r.buckets)) : "–")),
        rows.length === 0
          ? element("p", { class: "bad empty" },
            "No instance of " + route.service + " passes its checks: requests get 503.")
          : table(["instance", "health checks", "ejected", "circuit", "in flight", "latency", "requests/s",
            "share", "5xx/s"], rows),
        own.length
          ? element("p", { class: "note" }, "The gateway's own answers (no instance): " + own.join(", "))
          : null);
    });
    byId("routes").replaceChildren(...(cards.length ? cards : [element("p", { class: "note" }, "No routes.")]));
  }

  function ago(milliseconds) {
    if (!milliseconds) return "–";
    const seconds = Math.max(0, Math.round((Date.now() - milliseconds) / 1000));
    return seconds < 120 ? seconds + " s ago" : Math.round(seconds / 60) + " min ago";
  }

  function renderRegistry(services, details) {
    if (!services || services.services.length === 0) {
      byId("registry").replaceChildren(element("p", { class: "note" }, "No service is registered."));
      return;
    }
    const cards = services.services.map((service) => {
      const detail = details.get(service.service);
      const rows = (detail ? detail.instances : []).map((instance) =>
        element("tr", { "data-registered": instance.id },
          element("td", null, instance.id),
          element("td", { class: "address" }, instance.address + ":" + instance.port),
          element("td", { class: instance.health === "passing" ? "good" : "bad" }, instance.health),
          element("td", null, instance.zone || "–"),
          element("td", { class: "number" }, instance.weight),
          element("td", null, ago(instance.renewed_at)),
          element("td", null,
            Object.entries(instance.metadata || {}).map(([k, v]) => k + "=" + v).join(", ") || "–")));
      return element("article", { class: "service-card", "data-service": service.service },
        element("h3", null, service.service,
          element("span", { class: "counts" },
            service.passing + " passing · " + service.warning + " warning · " + service.critical + " critical")),
        rows.length ? table(["id", "address", "health", "zone", "weight", "renewed", "metadata"], rows) : null);
    });
    if (services.services.length > maxServicesListed) {
      cards.push(element("p", { class: "note" },
        "Instances are listed for the first " + maxServicesListed + " services."));
    }
    byId("registry").replaceChildren(...cards);
  }

  function renderLocks(locks) {
    if (locks == null) {
      byId("locks").replaceChildren(element("p", { class: "note" }, "This server has no lock API."));
      return;
    }
    if (locks.length === 0) {
      byId("locks").replaceChildren(element("p", { class: "note" }, "No lock is held."));
      return;
    }
    const rows = locks.map((lock) =>
      element("tr", { "data-lock": lock.name },
        element("td", null, lock.name),
        element("td", { class: "number" }, lock.fencing_token),
        element("td", { class: "number" }, (lock.expires_in_ms / 1000).toFixed(1) + " s"),
        element("td", { class: "number" }, lock.waiters)));
    byId("locks").replaceChildren(
      element("article", null, table(["name", "fencing token", "expires in", "waiting"], rows)));
  }

  function showTokenForm(refused) {
    byId("main").hidden = true;
    byId("token-form").hidden = false;
    setState(refused ? "the token was refused" : "needs the admin token", "error");
  }

  function setState(text, kind) {
    const state = byId("state");
    state.textContent = text;
    state.className = "state " + (kind || "");
  }

  async function poll() {
    timer = null;
    try {
      const [gateway, services, text, locks] = await Promise.all([
        get("/v1/gateway"), get("/v1/services"), get("/metrics", true), lockList()]);
      const details = new Map();
      const listed = services ? services.services.slice(0, maxServicesListed) : [];
      const answers = await Promise.all(listed.map((s) => get("/v1/services/" + encodeURIComponent(s.service))));
      listed.forEach((s, i) => answers[i] && details.set(s.service, answers[i]));

      const metrics = text == null ? new Map() : parseMetrics(text);
      const now = performance.now();
      samples.push({ at: now, metrics });
      while (samples.length > 2 && now - samples[1].at >= windowMilliseconds) samples.shift();
      if (samples.length > 1) {
        const previous = samples[samples.length - 2];
        const since = (now - previous.at) / 1000;
        if (since > 0) {
          const { totals } = rates(since, growth(previous.metrics, metrics));
          history.push({ requests: totals.requests, errors: totals.errors });
          if (history.length > historyLength) history.shift();
        }
      }
      const oldest = samples[0];
      const seconds = (now - oldest.at) / 1000;
      const measured = samples.length > 1 && seconds > 0 ? rates(seconds, growth(oldest.metrics, metrics)) : null;
      byId("window").textContent = measured ? seconds.toFixed(0) + " s" : "few seconds (measuring)";

      byId("token-form").hidden = true;
      byId("main").hidden = false;
      // An admin API without a gateway (an app that embeds the registry alone) has no
      // /v1/gateway: its part of the page stays hidden.
      byId("tiles").hidden = !gateway;
      byId("routes-section").hidden = !gateway;
      if (gateway) {
        renderTiles(gateway, metrics, measured);
        renderRoutes(gateway, measured, details);
      }
      renderRegistry(services, details);
      renderLocks(locks);
      setState("live · " + new Date().toLocaleTimeString("en-GB"), "live");
    } catch (error) {
      if (error instanceof Unauthorized) {
        showTokenForm(token !== "");
        return;
      }
      setState("cannot reach shoal: " + error.message, "error");
    }
    timer = setTimeout(poll, pollMilliseconds);
  }

  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    token = byId("token").value;
    sessionStorage.setItem("shoal.token", token);
    samples.length = 0;
    history.length = 0;
    if (timer) clearTimeout(timer);
    poll();
  });

  poll();
})();
