// The spec the up tests share: data services, a replicated app with a healthcheck, a worker, pre/post
// migrations with pending checks and a backup, and a proxy.
import { specOf, y } from '../helpers.js';

export const demoSpec = specOf(y`
  name: demo
  data:
    postgres: { image: pg, database: app, user: app, password: "\${DB_PASSWORD}", volume: pgdata }
    redis: { image: redis }
  services:
    backend:
      image: app:1
      replicas: 2
      healthcheck: { http: { port: 8000, path: /health/ } }
    worker:
      image: app:1
  migrations:
    same_image_as: backend
    before: [backend, worker]
    pre: { command: [migrate, pre], check: [migrate, pre, --check] }
    post: { command: [migrate, post], check: [migrate, post, --check] }
    backup: true
  proxy:
    image: nginx
    config: nginx.conf
    routes: [{ path: /, to: "backend:8000" }]
`);
