import type { z } from 'zod';
import type { CallBackAppInfoBody } from '../../src/api/v2alpha/schemas.ts';

/** The CallBackAppInfo body (seed pay2.0) that binds an app to a prepay, as the route's schema types it. */
export type AppInfoBody = z.infer<typeof CallBackAppInfoBody>;

/** The app body for the prepay on the cluster (an nginx app of one CPU core), with the fields a test names instead of the defaults. */
export function appInfo(prePayId: number, clusterId: string, fields: Partial<AppInfoBody> = {}): AppInfoBody {
  return {
    app_id: 'app-1',
    pre_pay_id: prePayId,
    cluster_id: clusterId,
    chart_name: 'nginx',
    cpu_limit: 1000,
    mem_limit: 0,
    storage_limit: 0,
    icon_url: '',
    project_name: 'shop',
    ...fields,
  };
}
