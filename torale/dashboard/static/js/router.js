// Hash routes (#/tasks/123): the server serves one page, and links work offline.

const routes = [];

export function route(pattern, render) {
  const names = [];
  const regex = new RegExp(
    `^${pattern.replace(/:([a-z_]+)/g, (_, name) => {
      names.push(name);
      return "([^/]+)";
    })}$`,
  );
  routes.push({ regex, names, render });
}

export function currentPath() {
  const hash = location.hash.replace(/^#/, "") || "/tasks";
  const [path, query = ""] = hash.split("?");
  return { path, query: new URLSearchParams(query) };
}

export function match(path) {
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (m) {
      const params = {};
      r.names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]);
      });
      return { render: r.render, params };
    }
  }
  return null;
}

export function go(path) {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = path;
}
