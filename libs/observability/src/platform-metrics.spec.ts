import { describe, expect, it } from 'vitest';
import { PlatformMetrics, type RequestObservation } from './platform-metrics';

const served: RequestObservation = {
  app: 'billing',
  route: '/billing/invoices/:id',
  method: 'GET',
  status: 200,
  durationSeconds: 0.002,
  decision: 'allow',
  reason: 'role_grants_permission',
  principalType: 'user',
  tokenBinding: 'bearer',
  errorReason: null,
};

describe('PlatformMetrics.observeRequest', () => {
  it('counts each request in its series: requests, latency, principal, decision and token failure', async () => {
    const metrics = new PlatformMetrics();
    metrics.observeRequest(served);
    metrics.observeRequest(served);
    metrics.observeRequest({
      ...served,
      status: 401,
      decision: 'deny',
      reason: 'token_expired',
      principalType: 'anonymous',
      tokenBinding: 'none',
    });
    metrics.observeRequest({ ...served, route: 'unmatched', status: 404, decision: null, reason: null });
    const text = await metrics.registry.metrics();
    const line = (prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));
    expect(
      line('platform_http_requests_total{app="billing",route="/billing/invoices/:id",method="GET",status="200"}'),
    ).toMatch(/ 2$/);
    expect(
      line('platform_http_requests_total{app="billing",route="/billing/invoices/:id",method="GET",status="401"}'),
    ).toMatch(/ 1$/);
    expect(line('platform_http_requests_total{app="billing",route="unmatched",method="GET",status="404"}')).toMatch(
      / 1$/,
    );
    expect(
      line(
        'platform_http_request_duration_seconds_count{app="billing",route="/billing/invoices/:id",method="GET",status="200"}',
      ),
    ).toMatch(/ 2$/);
    expect(
      line(
        'platform_requests_by_principal_total{app="billing",principal_type="user",token_binding="bearer",decision="allow"}',
      ),
    ).toMatch(/ 2$/);
    expect(
      line(
        'platform_requests_by_principal_total{app="billing",principal_type="user",token_binding="bearer",decision="none"}',
      ),
    ).toMatch(/ 1$/);
    expect(
      line('platform_authz_decisions_total{app="billing",decision="allow",reason="role_grants_permission"}'),
    ).toMatch(/ 2$/);
    expect(line('platform_authz_decisions_total{app="billing",decision="deny",reason="token_expired"}')).toMatch(/ 1$/);
    expect(line('platform_token_failures_total{reason="token_expired"}')).toMatch(/ 1$/);
  });
});
