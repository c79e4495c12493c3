/** The CallBackAppInfo body (seed pay2.0) that binds an app to a prepay: an nginx app of one CPU core. */
export interface AppInfoBody {
  app_id: string;
  pre_pay_id: number;
  cluster_id: string;
  chart_name: string;
  cpu_limit: number;
  mem_limit: number;
  storage_limit: number;
  icon_url: string;
  project_name: string;
}

/** The app body for the prepay on the cluster, with the fields a test names instead of the defaults. */
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
