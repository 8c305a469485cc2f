import { moduleReport, parsePrometheusText } from './module-report';

const scrape = (orders: number, handled: number) => `
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_count{method="POST",route="/orders",status="202"} ${orders}
http_request_duration_seconds_count{method="POST",route="/orders",status="400"} 5
messaging_published_total{module="orders",type="billing.capture-payment.v1"} ${orders}
messaging_published_total{module="billing",type="billing.payment-captured.v1"} ${orders}
messaging_published_total{module="orders",type="orders.step-deadline.v1"} ${orders}
messaging_handler_duration_seconds_count{module="billing",consumer="BillingHandlers",type="billing.capture-payment.v1",result="applied"} ${handled}
messaging_handler_duration_seconds_sum{module="billing",consumer="BillingHandlers",type="billing.capture-payment.v1",result="applied"} ${handled * 0.01}
messaging_handler_duration_seconds_bucket{le="0.01",module="billing",consumer="BillingHandlers",type="billing.capture-payment.v1",result="applied"} ${handled}
messaging_handler_duration_seconds_bucket{le="+Inf",module="billing",consumer="BillingHandlers",type="billing.capture-payment.v1",result="applied"} ${handled}
messaging_handler_duration_seconds_count{module="orders",consumer="OrdersHandlers",type="billing.payment-captured.v1",result="applied"} ${handled}
messaging_handler_duration_seconds_sum{module="orders",consumer="OrdersHandlers",type="billing.payment-captured.v1",result="applied"} ${handled * 0.03}
messaging_handler_duration_seconds_count{module="orders",consumer="OrdersHandlers",type="orders.step-deadline.v1",result="applied"} ${orders}
db_transaction_duration_seconds_sum{module="billing",kind="transaction"} ${handled * 0.01}
db_transaction_duration_seconds_sum{module="orders",kind="transaction"} ${handled * 0.03}
`;

describe('the module report', () => {
  it('counts the messages crossing each boundary per operation, and what each crossing would cost as a hop', () => {
    const before = parsePrometheusText(scrape(10, 10));
    const now = parsePrometheusText(scrape(110, 110));
    const report = moduleReport(now, { before, windowSeconds: 10, hopLatencyMs: 2, hopCpuMs: 5 });
    expect(report.operation).toEqual({ name: 'POST /orders', count: 100, perSecond: 10 }); // the 400s do not count
    const billing = report.modules.find((r) => r.module === 'billing')!;
    // one command in, one reply out per order; orders' own deadline timer crosses nothing
    expect(billing).toMatchObject({ inPerOperation: 1, outPerOperation: 1, messagesPerSecond: 10, handlerP99Ms: 10 });
    expect(billing.extraction).toEqual({ hopsPerOperation: 2, addedLatencyMs: 4, addedCpuMs: 10 });
    const orders = report.modules.find((r) => r.module === 'orders')!;
    expect(orders).toMatchObject({ inPerOperation: 1, outPerOperation: 1, handlerShare: 0.75, databaseShare: 0.75 });
  });

  it('says nothing per operation when no operation ran, and no cost without a hop cost', () => {
    const report = moduleReport(parsePrometheusText(scrape(0, 3)), { windowSeconds: 1 });
    expect(report.modules.find((r) => r.module === 'billing')).toMatchObject({
      inPerOperation: null,
      extraction: { hopsPerOperation: null, addedLatencyMs: null, addedCpuMs: null },
    });
  });
});
