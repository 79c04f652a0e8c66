import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/front-controller/app.js';
import { listenOn } from '../support/app-server.js';
import { json, request } from '../support/http.js';

describe('examples/front-controller', () => {
  let app: Awaited<ReturnType<typeof listenOn>>;
  beforeAll(async () => {
    app = await listenOn(createApp({ logger: false }));
  });
  afterAll(() => app.close());

  it('routes every URL under /pycgi through one script on PATH_INFO', async () => {
    const home = await request(`${app.origin}/pycgi/`);
    expect(home.text).toContain('<a href="/pycgi/items/2">Sprocket, large</a>');
    const item = await request(`${app.origin}/pycgi/items/3`);
    expect(item.text).toContain('<h1 id="item">Flux capacitor</h1>');
    expect(json(await request(`${app.origin}/pycgi/items/1?format=json`))).toEqual({
      id: '1',
      name: 'Left-handed widget',
      uri: '/pycgi/items/1?format=json',
    });
  });

  it('serves its own static files and its own 404', async () => {
    const css = await request(`${app.origin}/pycgi/static/app.css`);
    expect(css.headers['content-type']).toBe('text/css');
    expect(css.text).toContain('font-family');
    const missing = await request(`${app.origin}/pycgi/nothing/here`);
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('<p>/nothing/here</p>');
    expect((await request(`${app.origin}/`)).text).toContain('href="/pycgi/"');
  });
});
