//! A failover run as its record keeps it. Promotions and DNS changes take longer than a Lambda
//! invocation may wait, so the record is what one invocation saves and the next advances.
