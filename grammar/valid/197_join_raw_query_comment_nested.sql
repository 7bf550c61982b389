SELECT o.id, p.churn
FROM crm (
    SELECT id, plan, (SELECT count(*) FROM events e WHERE e.customer = c.id) AS events -- per customer
) AS o
JOIN mindsdb.churn AS p ON TRUE;
